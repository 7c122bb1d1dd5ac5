/* Table activation (SiLU, GELU): y[i] = LUT[x[i] + 128] with an indexed (gather) load. */
int main(void) {
  const int8_t *x = (const int8_t *)X_ADDR;
  const int8_t *lut = (const int8_t *)LUT_ADDR;
  int8_t *y = (int8_t *)Y_ADDR;
  size_t n = P_R * P_H;
  while (n > 0) {
    size_t vl = __riscv_vsetvl_e8m1(n);
    vuint8m1_t v = __riscv_vreinterpret_v_i8m1_u8m1(__riscv_vle8_v_i8m1(x, vl));
    vuint8m1_t index = __riscv_vxor_vx_u8m1(v, 0x80, vl); /* x + 128 as an unsigned byte */
    vuint16m2_t offset = __riscv_vzext_vf2_u16m2(index, vl);
    __riscv_vse8_v_i8m1(y, __riscv_vluxei16_v_i8m1(lut, offset, vl), vl);
    x += vl;
    y += vl;
    n -= vl;
  }
  return 0;
}
