/* clock.h - the monotonic and wall clocks in seconds, for every layer. */
#ifndef SP_COMMON_CLOCK_H
#define SP_COMMON_CLOCK_H

double sp_now_mono(void);
double sp_now_wall(void);

#endif
