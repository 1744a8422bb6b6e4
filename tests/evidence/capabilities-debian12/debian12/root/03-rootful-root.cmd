docker run -d --name rootful -v /srv/nslab-rootonly:/hostroot nslab/alpine:offline sleep 600
