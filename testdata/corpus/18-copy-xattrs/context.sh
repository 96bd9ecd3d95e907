python3 -c 'import os; os.setxattr("a.txt", "user.color", b"blue"); os.setxattr("dir/b", "user.kiln", b"1"); os.setxattr("dir", "user.on-dir", b"yes")'
