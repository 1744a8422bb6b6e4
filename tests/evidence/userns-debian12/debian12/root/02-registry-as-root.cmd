docker run -d --name registry -p 127.0.0.1:5000:5000 nslab/registry:offline
