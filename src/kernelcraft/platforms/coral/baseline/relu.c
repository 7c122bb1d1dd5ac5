/* ReLU: y = max(x, 0) on int8, strip-mined at e8/m1. */
int main(void) {
  const int8_t *x = (const int8_t *)X_ADDR;
  int8_t *y = (int8_t *)Y_ADDR;
  size_t n = P_R * P_H;
  while (n > 0) {
    size_t vl = __riscv_vsetvl_e8m1(n);
    vint8m1_t v = __riscv_vle8_v_i8m1(x, vl);
    __riscv_vse8_v_i8m1(y, __riscv_vmax_vx_i8m1(v, 0, vl), vl);
    x += vl;
    y += vl;
    n -= vl;
  }
  return 0;
}
