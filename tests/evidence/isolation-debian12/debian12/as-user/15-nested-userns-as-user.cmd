docker exec probe unshare -U true
