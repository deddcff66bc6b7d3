#include <vaecl/step_window.h>

vaecl_step_window vaecl_step_window_open(vb_backend *be) {
  vaecl_step_window w = {.be = be};
  return w;
}

int vaecl_step_window_admit(vaecl_step_window *w) {
  vb_mark **slot = &w->marks[w->next % VAECL_STEPS_IN_FLIGHT];
  if (!*slot)
    return 0;
  vb_mark *oldest = *slot;
  *slot = NULL;
  return w->be->ops->wait_mark(w->be, oldest);
}

int vaecl_step_window_mark(vaecl_step_window *w) {
  const int rc = w->be->ops->mark(w->be, &w->marks[w->next % VAECL_STEPS_IN_FLIGHT]);
  w->next++;
  return rc;
}

int vaecl_step_window_close(vaecl_step_window *w) {
  int rc = 0;
  for (int i = 0; i < VAECL_STEPS_IN_FLIGHT; i++)
    if (w->marks[i]) {
      if (w->be->ops->wait_mark(w->be, w->marks[i]) != 0)
        rc = -1;
      w->marks[i] = NULL;
    }
  return rc;
}
