docker run -d --name pub -p 127.0.0.1:18080:8080 nslab/alpine:offline sh -c 'trap "exit 0" TERM; sleep 600 & wait'
