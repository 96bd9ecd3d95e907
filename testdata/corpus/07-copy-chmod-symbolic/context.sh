chmod 0755 b.sh
