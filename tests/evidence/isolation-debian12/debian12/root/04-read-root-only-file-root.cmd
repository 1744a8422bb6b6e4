docker exec probe cat /host/secret
