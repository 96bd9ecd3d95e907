/* Keyring probe for the sandbox tests: looks for the key named argv[1] in the user keyring
 * and tries to add one named argv[2]. Prints what each call returned and exits 0 only when
 * both were refused with EPERM (as Docker's seccomp profile does), 1 otherwise. Built static
 * by the tests (`cc -static`), so it runs in a busybox image. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEYCTL_SEARCH 10
#define KEY_SPEC_USER_KEYRING -4

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: keyring FIND PLANT\n");
        return 2;
    }
    long found = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", argv[1], 0);
    int found_errno = errno;
    printf("keyctl search %s: %ld (%s)\n", argv[1], found, found < 0 ? strerror(found_errno) : "found");
    long added = syscall(SYS_add_key, "user", argv[2], "planted", 7, KEY_SPEC_USER_KEYRING);
    int added_errno = errno;
    printf("add_key %s: %ld (%s)\n", argv[2], added, added < 0 ? strerror(added_errno) : "added");
    return (found < 0 && found_errno == EPERM && added < 0 && added_errno == EPERM) ? 0 : 1;
}
