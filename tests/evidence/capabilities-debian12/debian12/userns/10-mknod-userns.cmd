docker exec rootful mknod /tmp/null-again c 1 3
