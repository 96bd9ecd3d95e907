mkfifo fifo
python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.bind("sock")'
mknod chr c 1 3 && chmod 0640 chr
mknod blk b 7 0
mkdir sub && mkfifo sub/fifo && mknod sub/chr c 1 5
