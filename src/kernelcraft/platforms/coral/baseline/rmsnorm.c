/* Integer RMSNorm per row: sum of squares, integer square root, reciprocal, scale. */
static uint32_t isqrt32(uint32_t v) {
  uint32_t root = 0;
  uint32_t bit = 1u << 30;
  while (bit > v) bit >>= 2;
  while (bit != 0) {
    if (v >= root + bit) {
      v -= root + bit;
      root = (root >> 1) + bit;
    } else {
      root >>= 1;
    }
    bit >>= 2;
  }
  return root;
}

int main(void) {
  const int8_t *x = (const int8_t *)X_ADDR;
  int8_t *y = (int8_t *)Y_ADDR;
  for (int r = 0; r < P_R; r++) {
    const int8_t *row = x + r * P_H;
    vint32m1_t ss = __riscv_vmv_v_x_i32m1(0, 1);
    for (size_t j = 0; j < P_H;) {
      size_t vl = __riscv_vsetvl_e8m1(P_H - j);
      vint8m1_t v = __riscv_vle8_v_i8m1(row + j, vl);
      ss = __riscv_vwredsum_vs_i16m2_i32m1(__riscv_vwmul_vv_i16m2(v, v, vl), ss, vl);
      j += vl;
    }
    uint32_t mean = ((uint32_t)__riscv_vmv_x_s_i32m1_i32(ss) << H_SHIFT) + (1u << 16);
    int32_t inv = (int32_t)((1u << 28) / isqrt32(mean));
    for (size_t j = 0; j < P_H;) {
      size_t vl = __riscv_vsetvl_e8mf2(P_H - j);
      vint32m2_t v = __riscv_vsext_vf4_i32m2(__riscv_vle8_v_i8mf2(row + j, vl), vl);
      v = __riscv_vmul_vx_i32m2(v, inv, vl);
      v = __riscv_vsra_vx_i32m2(__riscv_vadd_vx_i32m2(v, 1 << 14, vl), 15, vl);
      v = __riscv_vmax_vx_i32m2(__riscv_vmin_vx_i32m2(v, 127, vl), -128, vl);
      vint16m1_t v16 = __riscv_vncvt_x_x_w_i16m1(v, vl);
      __riscv_vse8_v_i8mf2(y + r * P_H + j, __riscv_vncvt_x_x_w_i8mf2(v16, vl), vl);
      j += vl;
    }
  }
  return 0;
}
