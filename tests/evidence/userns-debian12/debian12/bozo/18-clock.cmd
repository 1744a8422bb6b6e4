docker run -d --name clock nslab/clock:offline sh -c 'while date; do sleep 1; done'
