docker exec registry ps -ef
