/* fs.h: the file-system helpers every part uses. */
#ifndef TERN_COMMON_FS_H
#define TERN_COMMON_FS_H

/* Create `path` and its missing parents (mode 0777 less the umask). 0 when
 * the directory exists afterwards; -1 with errno from the first mkdir that
 * failed for a reason other than "exists". */
int tern_mkdir_p(const char *path);

#endif
