#!/bin/sh
# Pack what the GPU machine needs to run this build of leaktrace (it has no
# Debian packages): run from the project root after `make`; writes .device/
# (ignored by git; name it in the device run's carry). There:
#   sh bench/device_check.sh
set -e
D=.device
rm -rf $D && mkdir -p $D/lib
cp .output/leaktrace $D/
for l in libbpf.so.1 libelf.so.1 libcapstone.so.4 libz.so.1; do
	cp -L /lib/x86_64-linux-gnu/$l $D/lib/
done
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
du -sh $D
