/* This node's description for the checkpoint root: host name and hwloc
 * topology XML. Loading a topology costs tens of milliseconds, so it is done
 * once per process and cached (a node's hardware does not change under a
 * running job). */
#ifndef TERN_STORAGE_TOPO_H
#define TERN_STORAGE_TOPO_H

#include <stddef.h>

/* Cached; never NULL ("" when hwloc fails: a checkpoint without topology is
 * still a checkpoint). */
const char *tern_topo_xml(void);
void tern_store_hostname(char *buf, size_t len);

#endif
