/* Core counts from hwloc topologies (the ones stored in a checkpoint, or this
 * machine's). */
#include <hwloc.h>
#include <string.h>

#include "jobs.h"

static int count_cores(hwloc_topology_t t)
{
    int n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
    if (n <= 0) n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
    return n > 0 ? n : -1;
}

int jobs_cores_of_xml(const char *xml)
{
    if (!xml || !*xml) return -1;
    hwloc_topology_t t;
    if (hwloc_topology_init(&t)) return -1;
    int n = -1;
    if (hwloc_topology_set_xmlbuffer(t, xml, (int)strlen(xml) + 1) == 0 &&
        hwloc_topology_load(t) == 0)
        n = count_cores(t);
    hwloc_topology_destroy(t);
    return n;
}

int jobs_local_cores(void)
{
    hwloc_topology_t t;
    if (hwloc_topology_init(&t)) return -1;
    int n = -1;
    if (hwloc_topology_load(t) == 0) n = count_cores(t);
    hwloc_topology_destroy(t);
    return n;
}
