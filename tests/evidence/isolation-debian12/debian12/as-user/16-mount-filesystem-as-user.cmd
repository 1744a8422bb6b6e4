docker exec probe mount -t tmpfs none /host
