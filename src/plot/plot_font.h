/* A small hand-drawn bitmap font for plot labels: printable ASCII 32..126. */
#ifndef VAECL_PLOT_FONT_H
#define VAECL_PLOT_FONT_H

#include <stdint.h>

#define VAECL_FONT_W 5       /* glyph columns; bit 4 of a row byte is the leftmost */
#define VAECL_FONT_H 9       /* glyph rows: 7 above the baseline, 2 for descenders */
#define VAECL_FONT_CAP 7     /* cap height: rows 0..6 */
#define VAECL_FONT_ADVANCE 6 /* one blank column between characters */

/* The VAECL_FONT_H row bytes of a character; anything outside 32..126 maps to '?'. */
const uint8_t *vaecl_font_glyph(int ch);

/* Width in pixels of a one-line string drawn at integer scale (0 for ""). */
int vaecl_font_text_width(const char *s, int scale);

#endif
