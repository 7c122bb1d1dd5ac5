/* Integer softmax per row: max, exp-table gather, sum, one reciprocal, scale and narrow. */
static int16_t e_row[P_H];

int main(void) {
  const int8_t *x = (const int8_t *)X_ADDR;
  const int16_t *table = (const int16_t *)EXP_TABLE_ADDR;
  int8_t *y = (int8_t *)Y_ADDR;
  for (int r = 0; r < P_R; r++) {
    const int8_t *row = x + r * P_H;
    /* row maximum */
    size_t vl1 = __riscv_vsetvl_e8m1(1);
    vint8m1_t best = __riscv_vmv_v_x_i8m1(-128, vl1);
    for (size_t j = 0; j < P_H;) {
      size_t vl = __riscv_vsetvl_e8m1(P_H - j);
      best = __riscv_vredmax_vs_i8m1_i8m1(__riscv_vle8_v_i8m1(row + j, vl), best, vl);
      j += vl;
    }
    int m = __riscv_vmv_x_s_i8m1_i8(best);
    /* e[j] = E[x[j] - m + 255], and their sum */
    vint32m1_t total = __riscv_vmv_v_x_i32m1(0, 1);
    for (size_t j = 0; j < P_H;) {
      size_t vl = __riscv_vsetvl_e8m1(P_H - j);
      vint16m2_t k = __riscv_vsext_vf2_i16m2(__riscv_vle8_v_i8m1(row + j, vl), vl);
      k = __riscv_vadd_vx_i16m2(k, 255 - m, vl);
      vuint16m2_t offset = __riscv_vsll_vx_u16m2(__riscv_vreinterpret_v_i16m2_u16m2(k), 1, vl);
      vint16m2_t e = __riscv_vluxei16_v_i16m2(table, offset, vl);
      __riscv_vse16_v_i16m2(e_row + j, e, vl);
      total = __riscv_vwredsum_vs_i16m2_i32m1(e, total, vl);
      j += vl;
    }
    int32_t recip = (1 << 30) / __riscv_vmv_x_s_i32m1_i32(total);
    /* y[j] = clamp(((e[j] * r + 2^21) >> 22) - 128) */
    for (size_t j = 0; j < P_H;) {
      size_t vl = __riscv_vsetvl_e16m1(P_H - j);
      vint32m2_t e = __riscv_vsext_vf2_i32m2(__riscv_vle16_v_i16m1(e_row + j, vl), vl);
      vint32m2_t v = __riscv_vmul_vx_i32m2(e, recip, vl);
      v = __riscv_vsra_vx_i32m2(__riscv_vadd_vx_i32m2(v, 1 << 21, vl), 22, vl);
      v = __riscv_vmin_vx_i32m2(__riscv_vadd_vx_i32m2(v, -128, vl), 127, vl);
      vint16m1_t v16 = __riscv_vncvt_x_x_w_i16m1(v, vl);
      __riscv_vse8_v_i8mf2(y + r * P_H + j, __riscv_vncvt_x_x_w_i8mf2(v16, vl), vl);
      j += vl;
    }
  }
  return 0;
}
