sleep 2 && docker logs clock
