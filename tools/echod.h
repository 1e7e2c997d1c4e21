/* echod.h - the rig's tiny echo server (svcplanectl echod). */
#ifndef SP_TOOLS_ECHOD_H
#define SP_TOOLS_ECHOD_H

int cmd_echod(int argc, char **argv);

#endif
