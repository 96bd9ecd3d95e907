mkdir -p src/sub && printf one > src/one && printf two > src/sub/two && ln -s one src/link && chmod 0750 src/sub
tar --numeric-owner --owner=100 --group=200 --sort=name -cf archive.tar -C src .
rm -rf src
case bz2 in
plain) mv archive.tar archive.plain ;;
gz) gzip -n archive.tar && mv archive.tar.gz archive.gz ;;
bz2) bzip2 archive.tar && mv archive.tar.bz2 archive.bz2 ;;
xz) xz archive.tar && mv archive.tar.xz archive.xz ;;
zst) zstd -q --rm archive.tar && mv archive.tar.zst archive.zst ;;
esac
