/* model_print.h - the operator's table: Service → VIP:port/proto → endpoints. */
#ifndef SP_TOOLS_MODEL_PRINT_H
#define SP_TOOLS_MODEL_PRINT_H

#include <stdio.h>

struct sp_model;

/* Print @m as a human table to @f, one block per service port. */
void sp_model_print(FILE *f, const struct sp_model *m);

#endif
