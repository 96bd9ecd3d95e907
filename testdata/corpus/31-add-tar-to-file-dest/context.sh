mkdir src && printf a > src/a && tar --numeric-owner --sort=name -czf archive.tar.gz -C src . && rm -rf src
