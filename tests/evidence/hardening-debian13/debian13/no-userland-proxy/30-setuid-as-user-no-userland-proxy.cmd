docker run -d --name nnp -u 1000 nslab/hardening-setuid:machine /usr/local/bin/setuid-sleep 600
