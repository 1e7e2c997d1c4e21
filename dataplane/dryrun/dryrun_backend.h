/* dryrun_backend.h - --mode dry-run: print the model each sync would program,
 * touch nothing. A permanent debugging mode, not a stand-in for a backend. */
#ifndef SP_DATAPLANE_DRYRUN_H
#define SP_DATAPLANE_DRYRUN_H

#include "../backend.h"

extern const struct sp_backend_ops sp_dryrun_ops;

#endif
