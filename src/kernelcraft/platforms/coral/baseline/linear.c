/* Linear: acc = X W + b in int32, then requantise (vsmul, vssra, zero point, clamp) to int8. */
int main(void) {
  const int8_t *x = (const int8_t *)X_ADDR;
  const int8_t *w = (const int8_t *)W_ADDR;
  const int32_t *bias = (const int32_t *)B_ADDR;
  int8_t *y = (int8_t *)Y_ADDR;
  for (int m = 0; m < P_M; m++) {
    for (size_t n = 0; n < P_N;) {
      size_t vl = __riscv_vsetvl_e32m4(P_N - n);
      vint32m4_t acc = __riscv_vle32_v_i32m4(bias + n, vl);
      for (int k = 0; k < P_K; k++) {
        vint16m2_t wv = __riscv_vsext_vf2_i16m2(__riscv_vle8_v_i8m1(w + k * P_N + n, vl), vl);
        acc = __riscv_vwmacc_vx_i32m4(acc, x[m * P_K + k], wv, vl);
      }
      acc = __riscv_vsmul_vx_i32m4(acc, MULTIPLIER, __RISCV_VXRM_RNU, vl);
      acc = __riscv_vssra_vx_i32m4(acc, SHIFT, __RISCV_VXRM_RNU, vl);
      acc = __riscv_vadd_vx_i32m4(acc, OUT_ZERO_POINT, vl);
      acc = __riscv_vmax_vx_i32m4(__riscv_vmin_vx_i32m4(acc, 127, vl), -128, vl);
      vint16m2_t a16 = __riscv_vncvt_x_x_w_i16m2(acc, vl);
      __riscv_vse8_v_i8m1(y + m * P_N + n, __riscv_vncvt_x_x_w_i8m1(a16, vl), vl);
      n += vl;
    }
  }
  return 0;
}
