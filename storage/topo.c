#include "topo.h"

#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *xml_cache;

const char *tern_topo_xml(void)
{
    if (xml_cache)
        return xml_cache;
    hwloc_topology_t t;
    char *buf = NULL;
    int len = 0;
    if (hwloc_topology_init(&t) == 0) {
        if (hwloc_topology_load(t) == 0 &&
            hwloc_topology_export_xmlbuffer(t, &buf, &len, 0) == 0 && buf) {
            xml_cache = strdup(buf);
            hwloc_free_xmlbuffer(t, buf);
        }
        hwloc_topology_destroy(t);
    }
    if (!xml_cache)
        xml_cache = strdup("");
    return xml_cache ? xml_cache : "";
}

void tern_store_hostname(char *buf, size_t len)
{
    if (gethostname(buf, len) != 0)
        snprintf(buf, len, "unknown");
    buf[len - 1] = '\0';
}
