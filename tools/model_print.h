/* model_print.h - the operator's table: Service → VIP:port/proto → endpoints. */
#ifndef SP_TOOLS_MODEL_PRINT_H
#define SP_TOOLS_MODEL_PRINT_H

#include <stdio.h>

struct sp_model;
struct sp_svc_port;

/* Print @m as a human table to @f, one block per service port. */
void sp_model_print(FILE *f, const struct sp_model *m);

/* Print one port's block of that table; @no_eps replaces the "none
 * (connections are rejected)" of a port without endpoints when not NULL. */
void sp_model_print_port(FILE *f, const struct sp_svc_port *p, const char *no_eps);

#endif
