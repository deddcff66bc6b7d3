/* Keeps at most VAECL_STEPS_IN_FLIGHT training steps queued on the device: enough
 * to keep it busy, few enough that the memory queued work holds (CLBlast's
 * temporary matrices among it) stays bounded. Without it an epoch queued gigabytes. */
#ifndef VAECL_STEP_WINDOW_H
#define VAECL_STEP_WINDOW_H

#include <vaecl/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VAECL_STEPS_IN_FLIGHT 3

typedef struct {
  vb_backend *be;
  vb_mark *marks[VAECL_STEPS_IN_FLIGHT];
  unsigned next;
} vaecl_step_window;

vaecl_step_window vaecl_step_window_open(vb_backend *);
/* Before queueing a step: waits until fewer than VAECL_STEPS_IN_FLIGHT are queued. */
int vaecl_step_window_admit(vaecl_step_window *);
/* After queueing a step. */
int vaecl_step_window_mark(vaecl_step_window *);
/* Waits for every queued step and releases the marks; call it even after an error. */
int vaecl_step_window_close(vaecl_step_window *);

#ifdef __cplusplus
}
#endif
#endif
