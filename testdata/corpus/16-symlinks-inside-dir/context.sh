ln -s a.txt dir/rel
ln -s /etc/passwd dir/abs
ln -s ../nowhere dir/dangling
