[images: clock (offline)]
