docker run -d --name probe --network none --user 1000:1000 -v /srv/nslab-isolation:/host nslab/alpine:offline sleep 600
