[images: alpine (offline)]
