ln -s real dirlink
