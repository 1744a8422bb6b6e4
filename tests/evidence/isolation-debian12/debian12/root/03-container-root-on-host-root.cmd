docker run -d --name probe --network none  -v /srv/nslab-isolation:/host nslab/alpine:offline sleep 600
