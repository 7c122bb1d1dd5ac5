/* GEMV: y[m] = sum_n A[m, n] x[n]; a widening multiply and a widening sum per chunk of a row. */
int main(void) {
  const int8_t *a = (const int8_t *)A_ADDR;
  const int8_t *x = (const int8_t *)X_ADDR;
  int32_t *y = (int32_t *)Y_ADDR;
  for (int m = 0; m < P_M; m++) {
    vint32m1_t acc = __riscv_vmv_v_x_i32m1(0, 1);
    for (size_t n = 0; n < P_N;) {
      size_t vl = __riscv_vsetvl_e8m1(P_N - n);
      vint8m1_t av = __riscv_vle8_v_i8m1(a + m * P_N + n, vl);
      vint8m1_t xv = __riscv_vle8_v_i8m1(x + n, vl);
      acc = __riscv_vwredsum_vs_i16m2_i32m1(__riscv_vwmul_vv_i16m2(av, xv, vl), acc, vl);
      n += vl;
    }
    y[m] = __riscv_vmv_x_s_i32m1_i32(acc);
  }
  return 0;
}
