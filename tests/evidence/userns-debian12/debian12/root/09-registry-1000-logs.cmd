docker logs registry
