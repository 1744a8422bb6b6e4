docker exec probe chown 4242 /host/victim
