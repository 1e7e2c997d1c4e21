/* version.h - the version both programs print (--version). */
#ifndef SP_COMMON_VERSION_H
#define SP_COMMON_VERSION_H

#define SP_VERSION "0.9.0"

#endif
