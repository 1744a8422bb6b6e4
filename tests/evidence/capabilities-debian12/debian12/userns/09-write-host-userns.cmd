docker exec rootful touch /hostroot/by-container-root
