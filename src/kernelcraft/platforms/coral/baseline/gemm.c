/* GEMM (and BatchMatMul): Y[m, n] = sum_k X[m, k] W[k, n]; an output row chunk in int32,
   accumulated with vwmacc.vx (X[m, k] times the sign-extended row of W). */
int main(void) {
  for (int b = 0; b < P_BATCH; b++) {
    const int8_t *x = (const int8_t *)X_ADDR + b * P_M * P_K;
    const int8_t *w = (const int8_t *)W_ADDR + b * P_K * P_N;
    int32_t *y = (int32_t *)Y_ADDR + b * P_M * P_N;
    for (int m = 0; m < P_M; m++) {
      for (size_t n = 0; n < P_N;) {
        size_t vl = __riscv_vsetvl_e32m4(P_N - n);
        vint32m4_t acc = __riscv_vmv_v_x_i32m4(0, vl);
        for (int k = 0; k < P_K; k++) {
          vint16m2_t wv = __riscv_vsext_vf2_i16m2(__riscv_vle8_v_i8m1(w + k * P_N + n, vl), vl);
          acc = __riscv_vwmacc_vx_i32m4(acc, x[m * P_K + k], wv, vl);
        }
        __riscv_vse32_v_i32m4(y + m * P_N + n, acc, vl);
        n += vl;
      }
    }
  }
  return 0;
}
