docker exec probe touch /host/rootdir/written
