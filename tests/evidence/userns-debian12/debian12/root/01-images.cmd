[images: registry, hello (offline)]
