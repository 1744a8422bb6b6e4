docker tag nslab/hello:offline 127.0.0.1:5000/hello-world && docker push 127.0.0.1:5000/hello-world
