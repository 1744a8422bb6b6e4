docker exec writer touch /vol/by-root && docker volume inspect -f '{{.Mountpoint}}' nslab-owned
