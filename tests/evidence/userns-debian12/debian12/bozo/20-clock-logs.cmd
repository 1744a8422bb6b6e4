docker logs clock
