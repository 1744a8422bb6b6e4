sudo -n sh -c 'ls -ld /var/lib/docker/*.*'
