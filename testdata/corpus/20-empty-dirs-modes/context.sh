mkdir -p empty nested/deeper/empty
printf x > exec.sh && chmod 0755 exec.sh
printf x > private && chmod 0600 private
printf x > setuid && chmod 4755 setuid
mkdir sticky && chmod 1777 sticky
mkdir closed && chmod 0700 closed
